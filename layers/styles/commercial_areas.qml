<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<!-- flaechen: Gewerbegebiete (commercial_areas): coloured by the overall score of the criteria catalogue, labelled with the name -->
<qgis version="3.22.0-Białowieża" styleCategories="Symbology|Labeling" labelsEnabled="1" hasScaleBasedVisibilityFlag="0" minScale="100000000" maxScale="0">
 <renderer-v2 type="graduatedSymbol" attr="score" graduatedMethod="GraduatedColor" symbollevels="0" enableorderby="0" forceraster="0" referencescale="-1">
  <ranges>
   <range render="true" symbol="0" lower="0.000000" upper="0.250000" label="unter 25 %"/>
   <range render="true" symbol="1" lower="0.250000" upper="0.500000" label="25 bis 50 %"/>
   <range render="true" symbol="2" lower="0.500000" upper="0.750000" label="50 bis 75 %"/>
   <range render="true" symbol="3" lower="0.750000" upper="1.000000" label="75 % und mehr"/>
  </ranges>
  <symbols>
   <symbol name="0" type="fill" alpha="0.55" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleFill" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="color" value="215,48,39,255" type="QString"/>
      <Option name="outline_color" value="50,50,50,255" type="QString"/>
      <Option name="outline_style" value="solid" type="QString"/>
      <Option name="outline_width" value="0.6" type="QString"/>
      <Option name="outline_width_unit" value="MM" type="QString"/>
      <Option name="style" value="solid" type="QString"/>
     </Option>
    </layer>
   </symbol>
   <symbol name="1" type="fill" alpha="0.55" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleFill" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="color" value="252,141,89,255" type="QString"/>
      <Option name="outline_color" value="50,50,50,255" type="QString"/>
      <Option name="outline_style" value="solid" type="QString"/>
      <Option name="outline_width" value="0.6" type="QString"/>
      <Option name="outline_width_unit" value="MM" type="QString"/>
      <Option name="style" value="solid" type="QString"/>
     </Option>
    </layer>
   </symbol>
   <symbol name="2" type="fill" alpha="0.55" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleFill" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="color" value="145,207,96,255" type="QString"/>
      <Option name="outline_color" value="50,50,50,255" type="QString"/>
      <Option name="outline_style" value="solid" type="QString"/>
      <Option name="outline_width" value="0.6" type="QString"/>
      <Option name="outline_width_unit" value="MM" type="QString"/>
      <Option name="style" value="solid" type="QString"/>
     </Option>
    </layer>
   </symbol>
   <symbol name="3" type="fill" alpha="0.55" clip_to_extent="1" force_rhr="0">
    <layer class="SimpleFill" enabled="1" locked="0" pass="0">
     <Option type="Map">
      <Option name="color" value="26,152,80,255" type="QString"/>
      <Option name="outline_color" value="50,50,50,255" type="QString"/>
      <Option name="outline_style" value="solid" type="QString"/>
      <Option name="outline_width" value="0.6" type="QString"/>
      <Option name="outline_width_unit" value="MM" type="QString"/>
      <Option name="style" value="solid" type="QString"/>
     </Option>
    </layer>
   </symbol>
  </symbols>
 </renderer-v2>
 <labeling type="simple">
  <settings calloutType="simple">
   <text-style fieldName="name" fontSize="9" fontWeight="75" textColor="30,30,30,255" isExpression="0">
    <text-buffer bufferDraw="1" bufferSize="1" bufferColor="255,255,255,255" bufferSizeUnits="MM"/>
   </text-style>
   <placement placement="1" dist="0"/>
   <rendering scaleVisibility="1" scaleMin="0" scaleMax="50000"/>
  </settings>
 </labeling>
</qgis>
