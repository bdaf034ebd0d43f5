"""obligations: the recurring duties of Party grassroots organizations, as dated tasks."""

__version__ = "0.1.0"
