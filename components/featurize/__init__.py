"""featurize: split the typed rows, fit the featurizer on train, write feature tables."""
