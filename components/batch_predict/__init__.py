"""The batch_predict step: score a file with a bundle through the serving scorer."""
