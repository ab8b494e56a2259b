"""One module per spec tag; each operation is the function named by its ``operationId``."""
