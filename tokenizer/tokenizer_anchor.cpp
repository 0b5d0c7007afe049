// Anchor translation unit for the gallop_tokenizer library.
