# sources of engine/sampling (none yet)
