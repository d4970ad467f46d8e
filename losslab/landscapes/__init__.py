"""What produces a Surface: the built-in surfaces, your formula, and the loss planes of real
models (linear and logistic regression, a small MLP)."""
