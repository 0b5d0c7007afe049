// placeholder translation unit until the first model lands
