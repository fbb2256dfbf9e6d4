"""``python -m hedgerow.agent``: the agent's commands without loading the other tiers' CLIs.

On a device this is the light entry point (the ``hedgerow`` command imports every tier's
command modules); ``python -m hedgerow.agent run -c agent.toml`` equals ``hedgerow agent run``.
"""

from hedgerow.cli.agent import agent

if __name__ == "__main__":
    agent(prog_name="hedgerow-agent")
