"""The smallest WSGI application, for tests of the gunicorn worker (tests/test_serving.py)."""


def application(environ, start_response):
    body = environ["PATH_INFO"].encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
