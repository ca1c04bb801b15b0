"""Middle end: lowering to a Plan, the expression semantics, closed forms, fixed point and golden vectors."""
