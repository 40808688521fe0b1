"""Delivery channels behind one small protocol (see channels.base)."""
