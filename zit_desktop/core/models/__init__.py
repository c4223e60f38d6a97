"""Model variants: the catalogue (what can be downloaded and run), and downloading, verifying and
installing them into the Hugging Face cache. Torch-free and Qt-free."""
