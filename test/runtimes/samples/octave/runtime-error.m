values = [1, 2, 3];
disp(values(4));
