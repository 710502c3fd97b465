-- Image generation: models priced per image, and how many images a call produced.
ALTER TABLE models ADD COLUMN kind VARCHAR DEFAULT 'text';
ALTER TABLE models ADD COLUMN image_price DECIMAL(18, 6);  -- US dollars per image
ALTER TABLE spans ADD COLUMN image_count INTEGER;
