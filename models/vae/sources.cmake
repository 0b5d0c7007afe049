# sources of models/vae (none yet)
