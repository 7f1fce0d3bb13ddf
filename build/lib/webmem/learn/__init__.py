"""Learning a task: the recorder every demonstration goes through, and the agents that drive it."""
