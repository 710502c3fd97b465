"""Loopback HTTP server speaking the Anthropic, OpenAI and Gemini wire formats for SDK tests."""

from .server import LoopbackServer, Recorded, unused_port

__all__ = ["LoopbackServer", "Recorded", "unused_port"]
