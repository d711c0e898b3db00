"""The Huawei dialect adapter."""
