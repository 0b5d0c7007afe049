# sources of engine/pipeline (none yet)
