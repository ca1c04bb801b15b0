"""IR: the nodes, typed keys, the construct catalog, the visitor and located errors (the bottom layer)."""
