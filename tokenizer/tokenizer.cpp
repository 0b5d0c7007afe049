// placeholder translation unit until the tokenizer lands
