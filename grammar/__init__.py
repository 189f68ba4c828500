"""Grammar files of the constraint language, installed as package data."""
