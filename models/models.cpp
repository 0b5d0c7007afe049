// Anchor translation unit for the gallop_models library.
