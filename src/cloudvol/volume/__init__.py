"""Volume operations: plan -> fetch -> decode -> paint (reads), cut -> encode -> put (writes)."""
