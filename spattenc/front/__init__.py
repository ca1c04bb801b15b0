"""Front end: the grammar, the parser (text -> Module) and the checker (Module -> Program)."""
