"""The device agent and SDK: assess, detect and protect on the IoT device itself.

Light by design: imports only the standard library, PyYAML, libpass and the shared model;
never numpy, polars or the hub's server stack.

Example:
    >>> from hedgerow.agent import Agent, AgentConfig
    >>> cfg = AgentConfig.from_dict({"root": "/nonexistent", "state_dir": "/tmp/hr-doc"})
    >>> isinstance(Agent(cfg).assess(), list)
    True
"""

from hedgerow.agent.config import AgentConfig, ConfigError
from hedgerow.agent.core import Agent, RunSummary

__all__ = ["Agent", "AgentConfig", "ConfigError", "RunSummary"]
