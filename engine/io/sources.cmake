# sources of engine/io (none yet)
