"""Demo data: run last by org.demo.load_demo (after the other apps' records), fills the
full-text index so that the demo's search box finds everything at once."""


def load_demo():
    from .index import rebuild

    rebuild()
