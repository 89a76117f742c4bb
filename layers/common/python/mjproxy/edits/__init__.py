"""Image edits (plus API EDIT and RETEXTURE tasks): change a given image by a prompt."""
