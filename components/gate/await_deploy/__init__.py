"""await_deploy: the placeholder step of the ``dsl.If(blessed)`` branch until deploy exists."""
