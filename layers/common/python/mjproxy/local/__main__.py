"""`python -m mjproxy.local` / `mjproxy-local`: start the whole system on this machine."""

from .runner import main

if __name__ == "__main__":
    raise SystemExit(main())
