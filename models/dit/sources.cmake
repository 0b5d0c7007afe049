# sources of models/dit (none yet)
