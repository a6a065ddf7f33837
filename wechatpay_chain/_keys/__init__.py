"""Keys: loading them, WeChat Pay's key ring and its refresher, encrypted resources and fields."""
