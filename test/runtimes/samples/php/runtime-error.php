<?php
$values = [1, 2, 3];
echo intdiv($values[0], 0), "\n";
