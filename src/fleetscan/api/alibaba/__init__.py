"""The Alibaba dialect adapter."""
