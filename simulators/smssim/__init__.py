"""smssim: an SMS gateway as hospitals buy one, over HTTP and JSON, for `make run` and the tests."""
