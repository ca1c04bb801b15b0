"""Back ends: printers and templates that turn a Plan or FixedPlan into generated files."""
