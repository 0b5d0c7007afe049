// Translation unit that carries the precompiled header (cmake/pch.h).
