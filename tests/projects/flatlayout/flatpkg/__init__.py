VALUE = "flat"
