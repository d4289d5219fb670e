"""The SDK surface (layer 2): clients, agents, calls, participants and raw streams."""
