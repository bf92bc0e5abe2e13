def main() -> None:
    raise SystemExit("rstls is not implemented yet")


if __name__ == "__main__":
    main()
