"""gate: bless compare's challenger only when the evidence says it has earned it, and record why."""
