"""Command-line interface: ``hedgerow`` and its sub-commands, one module each."""
