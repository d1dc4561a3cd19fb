from mapper.cli import main

# Guarded: worker processes (persistence/folding.py) import the main module again.
if __name__ == "__main__":
    main()
