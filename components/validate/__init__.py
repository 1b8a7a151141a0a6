"""The validate step: infer or check the data contract, type the table, profile it."""
