numbers <- scan(file("stdin"), what = numeric(), quiet = TRUE)
cat(format(numbers[1] * numbers[2], scientific = FALSE), "\n", sep = "")
