"""PNG metadata: writing our images' parameters and reading anyone's back (Qt-free, no torch).

Modules, lowest first (each imports only those above it)::

    params   ImageParams, the one shape every reader returns; Source; lenient value converters
    chunks   the text-chunk keys (each spelled once) and a PNG chunk walker that decodes no pixels
    a1111    the A1111/Forge ``parameters`` text: format, parse, quote, to ImageParams
    comfy    a ComfyUI ``prompt`` graph to ImageParams
    read     read_params(path): picks the source; request_from_params, params_to_json
    write    png_text_chunks, write_png_atomic, output names, temp-file cleanup

This ``__init__`` imports nothing, so importing one module loads only what it needs.
"""
