"""The web console: static pages in `static/` that call the Huawei HSS dialect with an X-Auth-Token."""
