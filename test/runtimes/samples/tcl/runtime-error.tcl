set values {1 2 3}
puts [expr {[lindex $values 0] / 0}]
