values <- c(1, 2, 3)
stop("index ", length(values) + 1, " is out of range")
