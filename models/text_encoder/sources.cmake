# sources of models/text_encoder (none yet)
